'use strict';
// Built by `node-gyp rebuild` when npm installs the package (see binding.gyp).
module.exports = require('./build/Release/lanwatch_netlink.node');
