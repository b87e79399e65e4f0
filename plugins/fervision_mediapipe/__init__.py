"""fervision mediapipe stages."""
