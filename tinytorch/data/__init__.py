"""Data loading. loader.py is generated from modules/08_dataloader by `tito export`."""
