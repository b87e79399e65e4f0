"""fervision opencv stages."""
