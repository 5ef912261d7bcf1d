"""Who may call the server: access keys (`keys`) and AWS Signature Version 4 (`sigv4`)."""
