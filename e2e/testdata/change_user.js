// Drives mysql2's changeUser (COM_CHANGE_USER) for the change-user test:
// connects as one user, changes to another (or to a bad token), and prints
// what each identity sees.
// Usage: node change_user.js MODULE_DIR HOST PORT USER1 TOKEN1 USER2 TOKEN2 DB
const path = require('path');
const [moduleDir, host, port, user1, token1, user2, token2, database] = process.argv.slice(2);
const mysql = require(path.join(moduleDir, 'node_modules', 'mysql2', 'promise'));

(async () => {
  const c = await mysql.createConnection({ host, port: Number(port), user: user1, password: token1, database, allowPublicKeyRetrieval: true });
  const who = async () => (await c.query('SELECT CURRENT_USER() AS u, @x AS x'))[0][0];
  await c.query('SET @x = 1');
  let r = await who();
  console.log('before', r.u.split('@')[0], r.x);
  try {
    await c.query('UPDATE items SET name = name WHERE id = 1');
    console.log('write before: allowed');
  } catch (e) {
    console.log('write before:', e.errno);
  }
  try {
    await c.changeUser({ user: user2, password: token2, database });
  } catch (e) {
    console.log('change failed:', e.errno, e.message);
    try {
      await who();
      console.log('alive after a failed change');
    } catch (e2) {
      console.log('closed after a failed change');
    }
    process.exit(0);
  }
  r = await who();
  console.log('after', r.u.split('@')[0], r.x);
  const [res] = await c.query("UPDATE items SET name = 'changed' WHERE id = 1");
  console.log('write after: rows', res.affectedRows);
  await c.end();
})().catch((e) => { console.log('error', e.errno, e.message); process.exit(0); });
