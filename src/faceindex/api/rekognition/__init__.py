"""Amazon Rekognition's wire protocol (AWS JSON 1.1), driven by botocore's own service model."""
