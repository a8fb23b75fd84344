/* Messages for enum ramfs_error (ramfs.h). */
#include <delos/ramfs.h>

const char *ramfs_strerror(int err)
{
	switch (err) {
	case 0:                    return "success";
	case RAMFS_E_INVAL:        return "invalid argument (NULL pointer, flags or whence)";
	case RAMFS_E_NAME:         return "bad file name (1 to 39 bytes of '!'..'~')";
	case RAMFS_E_NOT_FOUND:    return "no such file";
	case RAMFS_E_EXISTS:       return "file exists";
	case RAMFS_E_FULL:         return "too many files";
	case RAMFS_E_TOO_BIG:      return "file would be larger than 16 MiB";
	case RAMFS_E_SEEK:         return "position out of range";
	case RAMFS_E_MODE:         return "token not opened for this (read or write)";
	case RAMFS_E_STALE:        return "token refused: its file has been removed";
	case RAMFS_E_FORGED:       return "token refused: forged or altered";
	case RAMFS_E_WRONG_SERVER: return "token refused: sealed for another server, not 'ramfs'";
	case RAMFS_E_NOT_TOKEN:    return "token refused: not a ramfs token";
	case RAMFS_E_NO_KEY:       return "no token key (is the tokens cell loaded?)";
	case RAMFS_E_NOMEM:        return "out of memory";
	case RAMFS_E_CORRUPT:      return "file records corrupt";
	case RAMFS_E_LAYOUT:       return "file written by a newer ramfs (layout too new)";
	case RAMFS_E_STORE:        return "state_db refused";
	default:                   return "unknown ramfs error";
	}
}
