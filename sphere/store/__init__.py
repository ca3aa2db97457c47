"""Storage: the blob-store Protocol, a local folder and S3, and the boto3 client factory."""
