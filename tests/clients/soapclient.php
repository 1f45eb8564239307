<?php
// What IPS client code written with PHP's SoapClient does, against ips-jobs: a client built
// from the served WSDL, the authHeader as a SoapHeader, a scheduled submitJob, the same name
// again (a SoapFault), getScheduledJobs, and a wrong password. Prints one JSON object; the
// test reads it.
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
$items = $scheduled->jobArray->items ?? [];
$out['scheduled'] = array_map(fn ($item) => [
    'jobHandle' => $item->jobHandle,
    'name' => $item->name,
    'execSchedule' => $item->execSchedule ?? null,
    'publishType' => $item->imageServingPublishJob->publishType ?? null,
], is_array($items) ? $items : [$items]);

try {
    client($wsdl, $user, 'not the password')
        ->getScheduledJobs(['companyHandle' => $company]);
    $out['wrongPassword'] = null;
} catch (SoapFault $fault) {
    $out['wrongPassword'] = fault($fault);
}

echo json_encode($out), "\n";
