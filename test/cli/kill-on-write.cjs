// Test preload (node --require): the process kills itself with SIGKILL the moment it starts writing
// a file whose base name is $DM_KILL_ON_WRITE: a deterministic "killed mid-write".
const fs = require('node:fs');
const path = require('node:path');
const target = process.env.DM_KILL_ON_WRITE;
const original = fs.writeFileSync;
fs.writeFileSync = function (file, ...rest) {
  if (target && typeof file === 'string' && path.basename(file) === target) process.kill(process.pid, 'SIGKILL');
  return original.call(this, file, ...rest);
};
