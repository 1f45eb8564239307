<?php
// What IPS client code written with PHP's SoapClient does, against ips-jobs: a client built
// from the served WSDL, the authHeader as a SoapHeader, a scheduled submitJob, the same name
// again (a SoapFault), getScheduledJobs, a wrong password, then the company's active jobs,
// job logs and the details of its ended log. Prints one JSON object (times as epoch
// milliseconds, as the client read them); the test reads it.
// Usage: php soapclient.php WSDL_URL USER PASSWORD COMPANY_HANDLE JOB_NAME

const COMMON_NS = 'http://www.scene7.com/IpsApi/xsd';

function client(string $wsdl, string $user, string $password): SoapClient
{
    $client = new SoapClient($wsdl, ['trace' => 1, 'exceptions' => true, 'cache_wsdl' => WSDL_CACHE_NONE]);
    $client->__setSoapHeaders([new SoapHeader(COMMON_NS, 'authHeader', [
        'user' => $user, 'password' => $password, 'appName' => 'php', 'appVersion' => '1.0'])]);
    return $client;
}

// A SoapFault reduced to what the test compares across clients: faultstring, the detail's
// fault element, code, reason.
function fault(SoapFault $fault): array
{
    $name = array_key_first(get_object_vars($fault->detail));
    $detail = $fault->detail->$name;
    return ['faultstring' => $fault->faultstring, 'fault' => $name, 'code' => (int) $detail->code,
        'reason' => $detail->reason];
}

// An array type's items: absent, one, or many (SoapClient gives one item as an object).
function items(?object $array): array
{
    $found = $array->items ?? [];
    return is_array($found) ? $found : [$found];
}

function millis(?string $dateTime): ?int
{
    return $dateTime === null ? null : (int) (new DateTime($dateTime))->format('Uv');
}

[, $wsdl, $user, $password, $company, $jobName] = $argv;
$client = client($wsdl, $user, $password);
$job = ['companyHandle' => $company, 'jobName' => $jobName,
    'execSchedule' => '0 0 3 * * ?',
    'imageServingPublishJob' => ['publishType' => 'Full', 'emailSetting' => 'None']];
$out = [];

$out['jobHandle'] = $client->submitJob($job)->jobHandle;

try {
    $client->submitJob($job);
    $out['duplicate'] = null;
} catch (SoapFault $fault) {
    $out['duplicate'] = fault($fault);
}

$scheduled = $client->getScheduledJobs(['companyHandle' => $company]);
$out['scheduled'] = array_map(fn ($item) => [
    'jobHandle' => $item->jobHandle,
    'name' => $item->name,
    'execSchedule' => $item->execSchedule ?? null,
    'publishType' => $item->imageServingPublishJob->publishType ?? null,
], items($scheduled->jobArray ?? null));

$active = $client->getActiveJobs(['companyHandle' => $company]);
$out['active'] = array_map(fn ($job) => [
    'jobHandle' => $job->jobHandle,
    'state' => $job->state,
    'startMs' => millis($job->startDate ?? null),
    'progress' => $job->progress,
    'tasks' => array_map(fn ($task) => ['taskType' => $task->taskType, 'progress' => $task->progress],
        items($job->taskProgressArray ?? null)),
], items($active->jobArray ?? null));

$logs = $client->getJobLogs(['companyHandle' => $company]);
$out['logs'] = array_map(fn ($log) => [
    'jobHandle' => $log->jobHandle,
    'logType' => $log->logType,
    'startMs' => millis($log->startDate ?? null),
    'endMs' => millis($log->endDate ?? null),
    'fileSuccessCount' => $log->fileSuccessCount,
    'fatalError' => $log->fatalError,
], items($logs->jobLogArray ?? null));

$ended = array_values(array_filter($out['logs'], fn ($log) => $log['endMs'] !== null))[0];
$details = $client->getJobLogDetails(['companyHandle' => $company, 'jobHandle' => $ended['jobHandle']]);
$out['details'] = [];
foreach (items($details->jobLogArray ?? null) as $log) {
    foreach (items($log->detailArray ?? null) as $row) {
        $out['details'][] = ['logType' => $row->logType, 'logMessage' => $row->logMessage,
            'dateMs' => millis($row->dateCreated)];
    }
}

try {
    client($wsdl, $user, 'not the password')
        ->getScheduledJobs(['companyHandle' => $company]);
    $out['wrongPassword'] = null;
} catch (SoapFault $fault) {
    $out['wrongPassword'] = fault($fault);
}

echo json_encode($out), "\n";
