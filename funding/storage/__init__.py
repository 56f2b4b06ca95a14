"""Storage: object stores, local folder or S3 (`objects`, adapter), the lake
of intermediate tables (`lake`) and the declaration of every table
(`tables`)."""
