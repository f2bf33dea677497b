(function(config){"use strict";window.CMP={config:config};})(__CMP_CONFIG__);
