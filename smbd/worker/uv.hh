// libuv, for the server's event loops.
#pragma once

#include <uv.h>

// <termios.h>, which uv.h pulls in, defines ECHO; SMB2 has a command of that name.
#undef ECHO
