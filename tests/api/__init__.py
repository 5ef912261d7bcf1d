"""Tests against a live `faceindex serve`: boto3, the AWS CLI and httpx on loopback."""
