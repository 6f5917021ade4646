// Share modes and delete-pending are the object store's rules: smbd/fsa/share_modes.hh.
// This header only forwards there for the handler files that still include it.
#pragma once

#include "smbd/fsa/share_modes.hh"
