// Drives node-postgres (pg): simple queries, parameterized and named
// prepared statements (extended protocol), an error, a denied write, a
// transaction, and LISTEN/NOTIFY; prints every result in a stable form.
// Usage: node pg_probe.js MODULE_DIR CONNECTION_STRING NOTIFY_CONNECTION_STRING
const path = require('path');
const [moduleDir, conn, notifyConn] = process.argv.slice(2);
const { Client } = require(path.join(moduleDir, 'node_modules', 'pg'));

function show(v) {
  if (v === null) return 'NULL';
  if (v instanceof Date) return 'date:' + v.toISOString();
  if (Buffer.isBuffer(v)) return 'bytes:' + v.toString('hex');
  if (typeof v === 'object') return 'json:' + JSON.stringify(v);
  return typeof v + ':' + String(v);
}

function print(res) {
  for (const r of Array.isArray(res) ? res : [res]) {
    console.log('command ' + r.command + ' ' + r.rowCount);
    if (r.fields.length) console.log('columns ' + r.fields.map(f => f.name + ':' + f.dataTypeID).join(' '));
    for (const row of r.rows) console.log('row ' + r.fields.map(f => show(row[f.name])).join(' | '));
  }
}

async function step(c, what, q) {
  console.log('query ' + what);
  try {
    print(await c.query(q));
  } catch (e) {
    console.log('error ' + e.code + ' ' + e.message);
  }
}

(async () => {
  const c = new Client({ connectionString: conn });
  await c.connect();
  await step(c, 'simple', 'SELECT * FROM items ORDER BY id');
  await step(c, 'multi', 'SELECT count(*) FROM items; SELECT max(price) FROM items');
  await step(c, 'params', { text: 'SELECT name, tags, note, created, m FROM items WHERE id > $1 AND price < $2 ORDER BY id', values: [1, 100] });
  await step(c, 'named', { name: 'by_id', text: 'SELECT name FROM items WHERE id = $1', values: [2] });
  await step(c, 'named again', { name: 'by_id', text: 'SELECT name FROM items WHERE id = $1', values: [3] });
  await step(c, 'error', 'SELECT 1/0');
  await step(c, 'denied write', { text: 'DELETE FROM items WHERE id = $1', values: [1] });
  await step(c, 'alive', 'SELECT 1 AS one');
  await step(c, 'begin', 'BEGIN');
  await step(c, 'in transaction', { text: 'SELECT count(*) FROM items WHERE id <= $1', values: [3] });
  await step(c, 'commit', 'COMMIT');
  const got = new Promise(resolve => c.on('notification', n => resolve(n)));
  await step(c, 'listen', 'LISTEN node_channel');
  const n = new Client({ connectionString: notifyConn });
  await n.connect();
  await n.query("NOTIFY node_channel, 'hello node'");
  await n.end();
  const note = await got;
  console.log('notify ' + note.channel + ' ' + note.payload);
  await c.end();
  console.log('done');
})().catch(e => { console.log('fatal ' + e.message); process.exit(1); });
