"""The course modules' code. Every file here is generated from modules/ by `tito export`."""
