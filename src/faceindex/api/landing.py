"""`GET /`: what a browser finds at the server's address. `POST /` is Rekognition's endpoint, so
someone who opens the URL that `serve` printed gets a page of links instead of 405."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>faceindex</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5 }}
pre {{ background: #f4f4f4; padding: .6rem; overflow-x: auto }}
</style>
</head>
<body>
<h1>faceindex {version}</h1>
<p>Self-hosted face detection, comparison and search with Amazon Rekognition's semantics.</p>
<h2>Amazon Rekognition's API</h2>
<p><code>POST /</code> speaks Rekognition's JSON protocol; {auth}</p>
<pre>boto3.client("rekognition", endpoint_url="{url}", region_name="{region}",
             aws_access_key_id="&lt;access key id&gt;", aws_secret_access_key="&lt;secret&gt;")</pre>
<h2>REST API</h2>
<ul>
<li><a href="/docs">/docs</a>: every operation, to try in the browser (Authorize: the key id as user name,
the secret as password)</li>
<li><a href="/redoc">/redoc</a>: the same reference in one page</li>
<li><a href="/openapi.json">/openapi.json</a>: the OpenAPI document</li>
</ul>
<h2>Operations</h2>
<ul>
<li><a href="/healthz">/healthz</a>: the process is up</li>
<li><a href="/readyz">/readyz</a>: the models are loaded and there is room to write</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>
</ul>
</body>
</html>
"""

_SIGNED = "requests are signed (SigV4) with an access key from <code>faceindex keys create</code>."
_UNSIGNED = "this server checks no signature (auth none: development only)."


def page(request: Request, version: str, region: str, signed: bool) -> HTMLResponse:
    url = str(request.base_url).rstrip("/")  # as the browser reached it (a proxy's name, not ours)
    text = _PAGE.format(
        version=escape(version), url=escape(url), region=escape(region), auth=_SIGNED if signed else _UNSIGNED
    )
    return HTMLResponse(text)
