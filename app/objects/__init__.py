"""Objects: uploaded files and inline texts, and the storage of their bytes under generated names."""
