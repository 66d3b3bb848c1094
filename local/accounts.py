"""The emulated deployment's accounts and region: constants only, so that commands can check their arguments
before importing the emulation (moto takes about 3 s of CPU to import)."""

ARCHIVE_ACCOUNT = "123456789012"  # moto's default account: the account of the credentials the world runs with
SOURCE_ACCOUNT = "111122223333"
REGION = "eu-west-1"
