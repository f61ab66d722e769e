// Drives mysql2: prints the results of text queries (query) and prepared
// statements (execute) in a stable form; "writes" mode tries each
// statement both ways and checks that the connection still answers.
// Usage: node mysql_probe.js MODULE_DIR HOST PORT USER PASSWORD DB MODE SQL...
// MYSQL2_OPTIONS (JSON) adds connection options, e.g.
// {"allowPublicKeyRetrieval": true}.
const path = require('path');
const [moduleDir, host, port, user, password, database, mode, ...sqls] = process.argv.slice(2);
const mysql = require(path.join(moduleDir, 'node_modules', 'mysql2', 'promise'));

const crypto = require('crypto');

// show writes a value in a stable form; long values as length and hash.
function show(v) {
  let s;
  if (v === null) return 'NULL';
  if (Buffer.isBuffer(v)) s = 'bytes:' + v.toString('hex');
  else if (v instanceof Date) s = isNaN(v) ? 'invalid date' : v.toISOString();
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = typeof v + ':' + String(v);
  if (s.length > 200) s = 'long:' + s.length + ':' + crypto.createHash('sha1').update(s).digest('hex');
  return s;
}

function print(rows, fields) {
  if (!Array.isArray(rows)) {
    console.log('count ' + rows.affectedRows);
    return;
  }
  if (fields && fields.length && Array.isArray(fields[0])) {
    rows.forEach((r, i) => print(r, fields[i]));
    return;
  }
  if (!fields) {
    rows.forEach(r => print(r));
    return;
  }
  console.log('columns ' + fields.map(f => f.name + ':' + f.columnType).join(' '));
  for (const r of rows) console.log('row ' + fields.map(f => show(r[f.name])).join(' | '));
}

(async () => {
  const c = await mysql.createConnection({host, port: Number(port), user, password, database,
    multipleStatements: true, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true,
    authPlugins: {}, ...JSON.parse(process.env.MYSQL2_OPTIONS || '{}')});
  for (const sql of sqls) {
    for (const how of ['query', 'execute']) {
      if (how === 'execute' && sql.includes(';')) continue; // one statement per prepare
      try {
        const [rows, fields] = await c[how](sql);
        if (mode === 'writes') console.log('allowed ' + how + ' ' + sql);
        else { console.log(how + ' ' + sql); print(rows, fields); }
      } catch (e) {
        console.log('error ' + e.sqlState + ' ' + e.errno + ' ' + how + ' ' + sql + (mode === 'writes' ? '' : ' ' + e.message));
      }
      if (mode === 'writes') {
        const [r] = await c.query('SELECT 1 AS one');
        console.log('alive ' + r[0].one);
      }
    }
  }
  await c.end();
  console.log('done');
})().catch(e => { console.log('fatal ' + e.code + ' ' + e.message); process.exit(1); });
