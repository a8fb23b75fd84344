/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one byte per step
 * through a 256-entry table. The table is computed by the compiler from the
 * polynomial and lives in .rodata: state_db keeps no writable static data.
 */
#include "state_db/internal.h"

#define CRC32C_POLY 0x82f63b78u

/* One bit of the reflected CRC; eight of them give a table entry. */
#define CRC_BIT(c)   (((c) >> 1) ^ (CRC32C_POLY & (0u - ((c) & 1u))))
#define CRC_BYTE(n)  CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT((uint32_t)(n)))))))))
#define CRC_4(n)     CRC_BYTE(n), CRC_BYTE((n) + 1), CRC_BYTE((n) + 2), CRC_BYTE((n) + 3)
#define CRC_16(n)    CRC_4(n), CRC_4((n) + 4), CRC_4((n) + 8), CRC_4((n) + 12)
#define CRC_64(n)    CRC_16(n), CRC_16((n) + 16), CRC_16((n) + 32), CRC_16((n) + 48)

static const uint32_t crc32c_table[256] = {
	CRC_64(0), CRC_64(64), CRC_64(128), CRC_64(192)
};

uint32_t statedb_crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	crc = ~crc;
	while (n--)
		crc = (crc >> 8) ^ crc32c_table[(crc ^ *b++) & 0xff];
	return ~crc;
}
