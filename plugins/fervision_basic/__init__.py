"""fervision basic stages."""
