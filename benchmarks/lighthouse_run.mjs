// One Lighthouse run of a signed-in page, for benchmarks/lighthouse.py:
//   node lighthouse_run.mjs <url> <cookies as JSON: {"name": "value"}> <report.json>
// The session cookie is set in the browser itself: Lighthouse's --extra-headers Cookie
// reaches the page but not the requests its scripts make, so htmx's fragments (the
// proposal page's evidence) were answered with the sign-in page. CHROME_PATH names the
// browser; its flags are the CLI's: headless, no sandbox (root in a container).
import fs from "node:fs";

import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import puppeteer from "puppeteer-core";

const [url, cookies, out] = process.argv.slice(2);
const chrome = await chromeLauncher.launch({
  chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu"],
});
try {
  const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}` });
  const { origin } = new URL(url);
  await browser.setCookie(
    ...Object.entries(JSON.parse(cookies)).map(([name, value]) => ({
      name, value, domain: new URL(origin).hostname, path: "/",
    })),
  );
  const page = await browser.newPage();
  const result = await lighthouse(
    url,
    {
      output: "json",
      logLevel: "error",
      onlyCategories: ["performance", "accessibility", "best-practices"],
    },
    undefined,
    page,
  );
  fs.writeFileSync(out, result.report);
  await browser.disconnect();
} finally {
  chrome.kill();
}
