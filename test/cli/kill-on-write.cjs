// Test preload (node --require): the process kills itself with SIGKILL the moment it starts writing
// (fs.writeFileSync) a file whose full path matches the regular expression $DM_KILL_ON_WRITE:
// a deterministic "killed mid-write".
const fs = require('node:fs');
const pattern = process.env.DM_KILL_ON_WRITE ? new RegExp(process.env.DM_KILL_ON_WRITE) : undefined;
const original = fs.writeFileSync;
fs.writeFileSync = function (file, ...rest) {
  if (pattern && typeof file === 'string' && pattern.test(file)) process.kill(process.pid, 'SIGKILL');
  return original.call(this, file, ...rest);
};
