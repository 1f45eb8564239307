// What IPS client code written with node `soap` does, against ips-jobs: a client built from
// the served WSDL, the authHeader as a SOAP header, a scheduled submitJob, the same name again
// (a fault), getScheduledJobs, a wrong password, then the company's active jobs, job logs and
// the details of its ended log. Prints one JSON object (times as epoch milliseconds, as the
// client read them); the test reads it.
// Usage: node client.js WSDL_URL USER PASSWORD COMPANY_HANDLE JOB_NAME
'use strict';

const soap = require('soap');

const COMMON_NS = 'http://www.scene7.com/IpsApi/xsd';

function authHeader(user, password) {
  return { authHeader: { user, password, appName: 'node', appVersion: '1.0' } };
}

// A SOAP fault as node `soap` hands it over (the parsed envelope under err.root), reduced to
// what the test compares across clients: faultstring, the detail's fault element, code, reason.
function fault(err) {
  const body = err && err.root && err.root.Envelope && err.root.Envelope.Body;
  if (!body || !body.Fault) {
    throw err;
  }
  const [name] = Object.keys(body.Fault.detail);
  const detail = body.Fault.detail[name];
  return { faultstring: body.Fault.faultstring, fault: name, code: Number(detail.code), reason: detail.reason };
}

// An array type's items: absent, one, or many.
function items(array) {
  const found = (array && array.items) || [];
  return Array.isArray(found) ? found : [found];
}

function millis(date) {
  return date === undefined || date === null ? null : new Date(date).getTime();
}

async function main() {
  const [wsdl, user, password, company, jobName] = process.argv.slice(2);
  const client = await soap.createClientAsync(wsdl);
  client.addSoapHeader(authHeader(user, password), '', 'ns', COMMON_NS);
  const job = {
    companyHandle: company,
    jobName: jobName,
    execSchedule: '0 0 3 * * ?',
    imageServingPublishJob: { publishType: 'Full', emailSetting: 'None' },
  };
  const out = {};

  const [submitted] = await client.submitJobAsync(job);
  out.jobHandle = submitted.jobHandle;

  try {
    await client.submitJobAsync(job);
    out.duplicate = null;
  } catch (err) {
    out.duplicate = fault(err);
  }

  const [scheduled] = await client.getScheduledJobsAsync({ companyHandle: company });
  out.scheduled = items(scheduled.jobArray).map((item) => ({
    jobHandle: item.jobHandle,
    name: item.name,
    execSchedule: item.execSchedule,
    publishType: item.imageServingPublishJob && item.imageServingPublishJob.publishType,
  }));

  const [active] = await client.getActiveJobsAsync({ companyHandle: company });
  out.active = items(active.jobArray).map((job) => ({
    jobHandle: job.jobHandle,
    state: job.state,
    startMs: millis(job.startDate),
    progress: job.progress,
    tasks: items(job.taskProgressArray).map((task) => ({ taskType: task.taskType, progress: task.progress })),
  }));

  const [logs] = await client.getJobLogsAsync({ companyHandle: company });
  out.logs = items(logs.jobLogArray).map((log) => ({
    jobHandle: log.jobHandle,
    logType: log.logType,
    startMs: millis(log.startDate),
    endMs: millis(log.endDate),
    fileSuccessCount: log.fileSuccessCount,
    fatalError: log.fatalError,
  }));

  const ended = out.logs.find((log) => log.endMs !== null);
  const [details] = await client.getJobLogDetailsAsync({ companyHandle: company, jobHandle: ended.jobHandle });
  out.details = items(details.jobLogArray).flatMap((log) => items(log.detailArray)).map((row) => ({
    logType: row.logType,
    logMessage: row.logMessage,
    dateMs: millis(row.dateCreated),
  }));

  const stranger = await soap.createClientAsync(wsdl);
  stranger.addSoapHeader(authHeader(user, 'not the password'), '', 'ns', COMMON_NS);
  try {
    await stranger.getScheduledJobsAsync({ companyHandle: company });
    out.wrongPassword = null;
  } catch (err) {
    out.wrongPassword = fault(err);
  }

  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
