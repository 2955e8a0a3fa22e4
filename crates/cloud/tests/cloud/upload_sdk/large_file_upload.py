"""Uploads a file through an upload URL with Microsoft's own Python Graph SDK upload task.

Usage: large_file_upload.py UPLOAD_URL EXPIRATION NEXT_RANGE FILE CHUNK_BYTES
Prints one JSON line: the SDK's item response, or the status of the API error it raised.
msgraph-core's task counts chunks instead of following nextExpectedRanges and always sends one
more PUT after the document is complete (msgraph-sdk-python-core #716, #718); the service has
deleted the session by then, so that PUT fails. The caller judges the stored document.
"""
import asyncio
import json
import sys
from datetime import datetime
from io import BytesIO

from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core.models import LargeFileUploadSession
from msgraph_core.tasks.large_file_upload import LargeFileUploadTask


async def main() -> None:
    url, expiration, next_range, path, chunk = sys.argv[1:6]
    session = LargeFileUploadSession(
        upload_url=url,
        expiration_date_time=datetime.fromisoformat(expiration),
        next_expected_ranges=[next_range],
    )
    # The documented pattern: the task borrows the Graph client's request adapter (constructing
    # the client registers the JSON (de)serialisers). Upload URLs are pre-authenticated.
    client = GraphServiceClient(
        request_adapter=GraphRequestAdapter(AnonymousAuthenticationProvider())
    )
    adapter = client.request_adapter
    with open(path, "rb") as f:
        stream = BytesIO(f.read())
    task = LargeFileUploadTask(session, adapter, stream, max_chunk_size=int(chunk))
    try:
        result = await task.upload()
    except APIError as error:
        print(json.dumps({"api_error_status": error.response_status_code}))
        return
    body = result.item_response
    if isinstance(body, bytes):
        body = body.decode()
    print(json.dumps({"item_response": body}))


asyncio.run(main())
