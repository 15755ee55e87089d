"""Text processing. tokenization.py is generated from modules/10_tokenization by `tito export`."""
