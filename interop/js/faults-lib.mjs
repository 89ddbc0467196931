// What the fault scripts share: failing with a message, a deadline, and
// herald's admin API (adding and deleting fault rules, simulating).
const { HERALD_URL, ADMIN_KEY } = process.env;

export const fail = (msg) => {
  console.error(msg);
  process.exit(1);
};

export const deadline = (ms) => setTimeout(() => fail("timeout"), ms).unref();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const admin = async (method, path, body) => {
  const res = await fetch(HERALD_URL + path, {
    method,
    headers: { Authorization: "Bearer " + ADMIN_KEY, "Content-Type": "application/json" },
    body: body && JSON.stringify(body),
  });
  if (!res.ok) fail(method + " " + path + ": " + res.status + " " + (await res.text()));
  return res.status === 204 ? null : res.json();
};
