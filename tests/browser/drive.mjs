// Drives one page of the aws-rum-web client in headless Chromium through a list of steps and
// prints, as one JSON object on stdout, every PutRumEvents request the browser sent (transport,
// encoding, BatchId, Alias, event ids, status) plus the page's console and uncaught errors.
//
// Usage: node drive.mjs PLAN.json
// PLAN: {"url", "endpoint", "executablePath"?, "timeoutMs"?, "steps": [{"do": STEP, ...}]}
// Exit status: 0 when every step ran, 1 when a step failed or timed out (the report then carries
// "error"), 2 for a bad command line. The report is printed in every case so that a failing
// test can show what the browser did.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

// Debian's chromium with the flags known to work in this sandbox (see the wire reference):
// playwright-core adds --headless and a fresh temporary --user-data-dir itself.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const started = Date.now();
const elapsed = () => Date.now() - started;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readPlan(argv) {
  if (argv.length !== 1) {
    process.stderr.write('usage: node drive.mjs PLAN.json\n');
    process.exit(2);
  }
  try {
    return JSON.parse(readFileSync(argv[0], 'utf8'));
  } catch (error) {
    process.stderr.write(`drive.mjs: cannot read plan ${argv[0]}: ${error.message}\n`);
    process.exit(2);
  }
}

// What the browser put on the wire for one PutRumEvents POST. The body is decoded the way the
// gate must decode it: gunzip when Content-Encoding says gzip, JSON whatever the Content-Type.
function describePost(request, seq) {
  const headers = request.headers();
  const raw = request.postDataBuffer() ?? Buffer.alloc(0);
  const record = {
    seq,
    t: elapsed(),
    path: new URL(request.url()).pathname,
    transport: request.resourceType() === 'ping' ? 'beacon' : 'fetch',
    resourceType: request.resourceType(),
    contentType: headers['content-type'] ?? null,
    contentEncoding: headers['content-encoding'] ?? null,
    wireBytes: raw.length,
    status: null,
    errorType: null,
    failure: null,
    doneAt: null,
  };
  try {
    const text = (record.contentEncoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
    const body = JSON.parse(text);
    Object.assign(record, {
      jsonChars: text.length,
      batchId: body.BatchId,
      hasAlias: Object.hasOwn(body, 'Alias'),
      alias: body.Alias ?? null,
      userId: body.UserDetails?.userId ?? null,
      sessionId: body.UserDetails?.sessionId ?? null,
      eventIds: body.RumEvents.map((event) => event.id),
      eventTypes: body.RumEvents.map((event) => event.type),
    });
  } catch (error) {
    record.decodeError = String(error);
  }
  return record;
}

async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(25);
  }
}

// One function per step kind; a plan is a list of {"do": name, ...arguments}.
const STEPS = {
  // Load the page and wait until cwr.js has replaced the loader's queue-only window.cwr.
  open: async ({ page, plan }) => {
    await page.goto(plan.url, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.cwr === 'function' && !window.cwr.queueOnly);
  },
  // Custom events through the public command API; `bytes` pads each event's details.
  record: async ({ page }, { count = 1, bytes = 0, type = 'com.example.probe' }) => {
    await page.evaluate(({ count, bytes, type }) => {
      for (let i = 0; i < count; i += 1) {
        window.cwr('recordEvent', { type, data: { i, note: 'x'.repeat(bytes) } });
      }
    }, { count, bytes, type });
  },
  // A real click whose handler throws: the errors telemetry records a js_error_event.
  click: async ({ page }, { selector }) => {
    await page.click(selector);
  },
  dispatch: async ({ page }) => {
    await page.evaluate(() => window.cwr('dispatch'));
  },
  // Wait until `count` PutRumEvents POSTs have been answered (or failed).
  awaitPosts: async ({ posts }, { count, timeoutMs = 10000 }) => {
    await waitFor(() => posts.filter((post) => post.doneAt !== null).length >= count, timeoutMs,
      `${count} answered PutRumEvents requests`);
  },
  sleep: async (_state, { ms }) => {
    await sleep(ms);
  },
  // Leave the page: the document turns hidden and fires pagehide, where the client flushes with
  // navigator.sendBeacon.
  hide: async ({ page }) => {
    await page.goto('about:blank');
  },
  // Every request seen so far answered: nothing is still in flight when the report is written.
  settle: async ({ posts }, { timeoutMs = 10000 }) => {
    await waitFor(() => posts.every((post) => post.doneAt !== null), timeoutMs,
      'in-flight PutRumEvents requests');
  },
};

async function main() {
  const plan = readPlan(process.argv.slice(2));
  const report = { posts: [], console: [], pageErrors: [], steps: [], browserVersion: null };
  const timer = setTimeout(() => {
    report.error = `driver timed out after ${plan.timeoutMs ?? 45000} ms`;
    finish(report, 1);
  }, plan.timeoutMs ?? 45000);

  let browser;
  try {
    browser = await chromium.launch({
      executablePath: plan.executablePath ?? '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    report.browserVersion = browser.version();
    const context = await browser.newContext();
    const page = await context.newPage();
    const state = { page, plan, posts: report.posts };
    const records = new Map();
    const prefix = `${plan.endpoint.replace(/\/$/, '')}/appmonitors/`;

    context.on('request', (request) => {
      if (request.method() === 'POST' && request.url().startsWith(prefix)) {
        const record = describePost(request, report.posts.length + 1);
        records.set(request, record);
        report.posts.push(record);
      }
    });
    context.on('requestfinished', async (request) => {
      const record = records.get(request);
      if (record === undefined) return;
      const response = await request.response().catch(() => null);
      record.status = response === null ? null : response.status();
      record.errorType = response === null ? null : response.headers()['x-amzn-errortype'] ?? null;
      record.doneAt = elapsed();
    });
    context.on('requestfailed', (request) => {
      const record = records.get(request);
      if (record === undefined) return;
      record.failure = request.failure()?.errorText ?? 'failed';
      record.doneAt = elapsed();
    });
    page.on('console', (message) => {
      report.console.push({ t: elapsed(), type: message.type(), text: message.text() });
    });
    page.on('pageerror', (error) => {
      report.pageErrors.push({ t: elapsed(), message: error.message });
    });

    for (const step of plan.steps) {
      const run = STEPS[step.do];
      if (run === undefined) {
        throw new Error(`unknown step ${JSON.stringify(step.do)}`);
      }
      report.steps.push({ do: step.do, t: elapsed() });
      await run(state, step);
    }
    report.elapsedMs = elapsed();
    clearTimeout(timer);
    await browser.close();
    finish(report, 0);
  } catch (error) {
    report.error = String(error?.stack ?? error);
    clearTimeout(timer);
    await browser?.close().catch(() => {});
    finish(report, 1);
  }
}

function finish(report, code) {
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(code));
}

await main();
