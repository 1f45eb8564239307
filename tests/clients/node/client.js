// What IPS client code written with node `soap` does, against ips-jobs: a client built from
// the served WSDL, the authHeader as a SOAP header, a scheduled submitJob, the same name again
// (a fault), getScheduledJobs, and a wrong password. Prints one JSON object; the test reads it.
// Usage: node client.js '{"wsdl": ..., "user": ..., "password": ..., "company": ..., "jobName": ...}'
'use strict';

const soap = require('soap');

const COMMON_NS = 'http://www.scene7.com/IpsApi/xsd';

function authHeader(user, password) {
  return { authHeader: { user, password, appName: 'node', appVersion: '1.0' } };
}

// A SOAP fault as node `soap` hands it over: the parsed envelope under err.root.
function fault(err) {
  const body = err && err.root && err.root.Envelope && err.root.Envelope.Body;
  if (!body || !body.Fault) {
    throw err;
  }
  return { faultcode: body.Fault.faultcode, faultstring: body.Fault.faultstring, detail: body.Fault.detail };
}

async function main() {
  const config = JSON.parse(process.argv[2]);
  const client = await soap.createClientAsync(config.wsdl);
  client.addSoapHeader(authHeader(config.user, config.password), '', 'ns', COMMON_NS);
  const job = {
    companyHandle: config.company,
    jobName: config.jobName,
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

  const [scheduled] = await client.getScheduledJobsAsync({ companyHandle: config.company });
  const items = (scheduled.jobArray && scheduled.jobArray.items) || [];
  out.scheduled = (Array.isArray(items) ? items : [items]).map((item) => ({
    jobHandle: item.jobHandle,
    name: item.name,
    execSchedule: item.execSchedule,
    publishType: item.imageServingPublishJob && item.imageServingPublishJob.publishType,
  }));

  const stranger = await soap.createClientAsync(config.wsdl);
  stranger.addSoapHeader(authHeader(config.user, 'not the password'), '', 'ns', COMMON_NS);
  try {
    await stranger.getScheduledJobsAsync({ companyHandle: config.company });
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
