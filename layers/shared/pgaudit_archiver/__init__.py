"""pgaudit-archiver: archive Aurora PostgreSQL pgaudit logs from many accounts into one S3 archive."""
