"""The first thing a user does: submit a job with the documented request and read it back."""

from conftest import NS, Account


def test_submitted_job_is_listed_with_server_defaults(call, account: Account) -> None:
    reply = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>My Test Job</jobName>"
        "<execTime>2099-01-01T00:00:00Z</execTime>"
        "<imageServingPublishJob><publishType>Full</publishType>"
        "<emailSetting>Error</emailSetting></imageServingPublishJob>",
    )
    assert reply.status == 200
    handle = reply.payload().findtext(f"{{{NS}}}jobHandle")
    assert handle == f"j|{account.company_id}|My Test Job||"

    listed = call("getScheduledJobs", f"<jobHandle>{handle}</jobHandle>").payload()
    items = listed.findall(f"{{{NS}}}jobArray/{{{NS}}}items")
    assert len(items) == 1
    job = items[0]
    assert job.findtext(f"{{{NS}}}type") == "ImageServingPublish"
    assert job.findtext(f"{{{NS}}}submitUserEmail") == account.email
    publish = job.find(f"{{{NS}}}imageServingPublishJob")
    assert [child.tag.split("}")[1] for child in publish] == [
        "publishType",
        "emailSetting",
        "httpCompletionUrl",
    ]
