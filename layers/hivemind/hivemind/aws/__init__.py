"""Adapters over boto3. Every function takes its client(s) as parameters; `clients.client()`
is the one cached factory. ClientError is wrapped in a domain exception at this boundary."""
