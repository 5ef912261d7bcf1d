"""Pure functions from landmarks and pixels to the fields of Rekognition's FaceDetail."""
