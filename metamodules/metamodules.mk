# metamodules/: spill-free patterns that cells link in (included by the top
# Makefile after its variables).
#
#   make metamodules-spill-check   compile the metamodules with the kernel flags
#                                  and fail if any has writable allocated data

# Opaque client-held tokens, and the SipHash-2-4 they are built on. A cell
# that uses tokens compiles these with the kernel flags and links them in.
TOKEN_SRCS := metamodules/token.c metamodules/token_msg.c metamodules/siphash.c
# The display cells' switch between VGA text and the VBE framebuffer.
DISPLAY_SWITCH_SRCS := metamodules/display_switch.c
# The memory ownership audit, for kcmds@1 and nano_core's test build.
MM_AUDIT_SRCS := metamodules/mm_audit.c metamodules/frame_audit.c
METAMODULE_SRCS := $(TOKEN_SRCS) $(DISPLAY_SWITCH_SRCS) $(MM_AUDIT_SRCS)

HOST_TESTS      += token
test_token_SRCS := $(TOKEN_SRCS)

# The check: every metamodule, built exactly as for the kernel, has no
# allocated writable section (.data, .bss, TLS, ...) with a non-zero size, and
# no COMMON symbol. It first checks itself on a source that does spill.
MM_READELF    := $(firstword $(shell command -v readelf llvm-readelf 2>/dev/null) readelf)
MM_SPILL_OBJS := $(patsubst %,$(KOUT)/%.o,$(METAMODULE_SRCS))
MM_SPILLER    := $(KOUT)/metamodules/spill-check-canary.o

# Prints "FILE: SECTION (FLAGS, SIZE bytes)" for each writable allocated section
# of non-zero size, and "FILE: COMMON SYMBOL" for each common symbol.
mm_spills = for o in $(1); do \
	$(MM_READELF) -S -W $$o | sed -n 's/^ *\[ *[0-9]*\] //p' | \
	awk -v f=$$o 'NF == 10 && $$7 ~ /W/ && $$7 ~ /A/ && $$5 !~ /^0+$$/ \
		{ printf "%s: %s (%s, 0x%s bytes)\n", f, $$1, $$7, $$5 }'; \
	$(MM_READELF) -s -W $$o | awk -v f=$$o '$$7 == "COM" { print f ": COMMON " $$8 }'; \
	done

$(MM_SPILLER):
	@mkdir -p $(@D)
	printf 'int spill_counter;\nint spill_flag = 1;\n' | \
		$(CC) $(filter-out -MMD -MP,$(KCFLAGS)) -fcommon -x c -c - -o $@

metamodules-spill-check: $(MM_SPILL_OBJS) $(MM_SPILLER)
	@test -n "$$($(call mm_spills,$(MM_SPILLER)))" || \
		{ echo "metamodules-spill-check: the check missed the spills in $(MM_SPILLER)"; exit 1; }
	@spills="$$($(call mm_spills,$(MM_SPILL_OBJS)))"; \
	if [ -n "$$spills" ]; then \
		echo "metamodules: writable static data (cells may not keep any):"; \
		echo "$$spills"; exit 1; \
	fi; \
	echo "metamodules-spill-check: no writable data in $(notdir $(MM_SPILL_OBJS))"

TEST_SCRIPTS += metamodules_spill=metamodules-spill-check

.PHONY: metamodules-spill-check
