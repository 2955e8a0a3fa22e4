"""An unmodified msgraph-sdk client against printlab: list printers, create a job on a share,
create an upload session, upload a multi-chunk file with LargeFileUploadTask, start the job and
read it back with $expand=documents.

Usage: graph_client.py GRAPH_BASE_URL TOKEN SHARE_ID FILE CHUNK_BYTES
Prints one JSON line with what the SDK saw.
"""
import asyncio
import json
import sys
from io import BytesIO

from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator, BaseBearerTokenAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.print_document_upload_properties import PrintDocumentUploadProperties
from msgraph.generated.models.print_job import PrintJob
from msgraph.generated.models.print_job_configuration import PrintJobConfiguration
from msgraph.generated.print.shares.item.jobs.item.documents.item.create_upload_session.create_upload_session_post_request_body import CreateUploadSessionPostRequestBody
from msgraph.generated.print.shares.item.jobs.item.print_job_item_request_builder import PrintJobItemRequestBuilder
from msgraph_core.tasks.large_file_upload import LargeFileUploadTask


class StaticToken(AccessTokenProvider):
    def __init__(self, token):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([])


async def main() -> None:
    base, token, share_id, path, chunk = sys.argv[1:6]
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)))
    adapter.base_url = base
    client = GraphServiceClient(request_adapter=adapter)
    printers = await client.print.printers.get()
    share = client.print.shares.by_printer_share_id(share_id)
    job = await share.jobs.post(PrintJob(configuration=PrintJobConfiguration(copies=1)))
    document = job.documents[0]
    with open(path, "rb") as f:
        data = f.read()
    body = CreateUploadSessionPostRequestBody(
        properties=PrintDocumentUploadProperties(document_name="sdk.pdf", content_type="application/pdf", size=len(data))
    )
    session = await share.jobs.by_print_job_id(job.id).documents.by_print_document_id(document.id).create_upload_session.post(body)
    task = LargeFileUploadTask(session, adapter, BytesIO(data), max_chunk_size=int(chunk))
    try:
        await task.upload()
    except Exception as error:  # the task sends one PUT too many after completion (see upload_sdk)
        print(f"upload task ended with: {error!r}", file=sys.stderr)
    status = await share.jobs.by_print_job_id(job.id).start.post()
    config = RequestConfiguration(query_parameters=PrintJobItemRequestBuilder.PrintJobItemRequestBuilderGetQueryParameters(expand=["documents"]))
    read = await share.jobs.by_print_job_id(job.id).get(request_configuration=config)
    print(json.dumps({
        "printers": [p.display_name for p in printers.value],
        "job_id": job.id,
        "initial_state": job.status.state.value,
        "started_state": status.state.value,
        "document_size": read.documents[0].size,
        "document_name": read.documents[0].display_name,
        "is_fetchable": read.is_fetchable,
    }))


asyncio.run(main())
