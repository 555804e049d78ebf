// Presigns one PutRumEvents beacon exactly as aws-rum-web does, for tests/gate/test_presigned.py.
//
// Nothing of the client is copied: this runs aws-rum-web's own DataPlaneClient.sendBeacon with
// its own signing config (createSigningConfig: @smithy/signature-v4 presign, expiresIn 60, the
// body's SHA-256 as X-Amz-Content-Sha256) and its own BeaconHttpHandler, which builds the URL the
// browser would pass to navigator.sendBeacon. Node has no sendBeacon, so the only stand-in is a
// navigator.sendBeacon that records the URL and body instead of sending them.
//
// stdin:  {"endpoint": "http://testserver", "region": "us-east-1",
//          "credentials": {"accessKeyId": "...", "secretAccessKey": "...", "sessionToken"?: "..."},
//          "request": <a PutRumEvents body, RumEvents[].timestamp in epoch seconds>}
// stdout: {"url": "...", "body": "...", "headers": {<the signed request's headers>}}
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// The packages ship ES modules without "type": "module"; their CommonJS builds load in Node.
const require = createRequire(fileURLToPath(import.meta.url));
const { DataPlaneClient } = require('@aws-rum/web-core/dispatch/DataPlaneClient');
const { createSigningConfig } = require('@aws-rum/web-core/dispatch/signing');
const { BeaconHttpHandler } = require('@aws-rum/web-core/dispatch/BeaconHttpHandler');

const readStdin = async () => {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};

const main = async () => {
    const input = await readStdin();
    let sent;
    Object.defineProperty(globalThis, 'navigator', {
        configurable: true,
        value: { sendBeacon: (url, body) => { sent = { url, body }; return true; } }
    });
    let signedHeaders;
    const beacon = new BeaconHttpHandler();
    const client = new DataPlaneClient(
        {
            endpoint: new URL(input.endpoint),
            region: input.region,
            credentials: input.credentials,
            headers: undefined,
            compressionStrategy: { enabled: false },
            fetchRequestHandler: { handle: () => Promise.reject(new Error('fetch not expected')) },
            beaconRequestHandler: {
                handle: (request) => { signedHeaders = { ...request.headers }; return beacon.handle(request); }
            }
        },
        createSigningConfig(input.credentials, input.region)
    );
    const request = input.request;
    await client.sendBeacon({
        ...request,
        RumEvents: request.RumEvents.map((e) => ({ ...e, timestamp: new Date(e.timestamp * 1000) }))
    });
    if (!sent) throw new Error('aws-rum-web did not call navigator.sendBeacon');
    process.stdout.write(JSON.stringify({ url: sent.url, body: sent.body, headers: signedHeaders }));
};

main().catch((err) => {
    process.stderr.write(`presign.mjs: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
});
