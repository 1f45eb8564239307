<?php
// What IPS client code written with PHP's SoapClient does, against ips-jobs: a client built
// from the served WSDL, the authHeader as a SoapHeader, a scheduled submitJob, the same name
// again (a SoapFault), getScheduledJobs, and a wrong password. Prints one JSON object; the
// test reads it.
// Usage: php soapclient.php '{"wsdl": ..., "user": ..., "password": ..., "company": ..., "jobName": ...}'

const COMMON_NS = 'http://www.scene7.com/IpsApi/xsd';

function client(string $wsdl, string $user, string $password): SoapClient
{
    $client = new SoapClient($wsdl, ['trace' => 1, 'exceptions' => true, 'cache_wsdl' => WSDL_CACHE_NONE]);
    $client->__setSoapHeaders([new SoapHeader(COMMON_NS, 'authHeader', [
        'user' => $user, 'password' => $password, 'appName' => 'php', 'appVersion' => '1.0'])]);
    return $client;
}

function fault(SoapFault $fault): array
{
    return ['faultcode' => $fault->faultcode, 'faultstring' => $fault->faultstring,
        'detail' => json_decode(json_encode($fault->detail ?? null), true)];
}

$config = json_decode($argv[1], true, 512, JSON_THROW_ON_ERROR);
$client = client($config['wsdl'], $config['user'], $config['password']);
$job = ['companyHandle' => $config['company'], 'jobName' => $config['jobName'],
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

$scheduled = $client->getScheduledJobs(['companyHandle' => $config['company']]);
$items = $scheduled->jobArray->items ?? [];
$out['scheduled'] = array_map(fn ($item) => [
    'jobHandle' => $item->jobHandle,
    'name' => $item->name,
    'execSchedule' => $item->execSchedule ?? null,
    'publishType' => $item->imageServingPublishJob->publishType ?? null,
], is_array($items) ? $items : [$items]);

try {
    client($config['wsdl'], $config['user'], 'not the password')
        ->getScheduledJobs(['companyHandle' => $config['company']]);
    $out['wrongPassword'] = null;
} catch (SoapFault $fault) {
    $out['wrongPassword'] = fault($fault);
}

echo json_encode($out), "\n";
