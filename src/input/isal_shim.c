/*
 * The few calls nodeauthz makes into ISA-L's gzip inflate (igzip), behind functions that do
 * not expose `struct inflate_state`: its layout is ISA-L's own (tens of kilobytes of tables
 * and history) and would otherwise have to be copied into Rust by hand. Compiled by build.rs
 * only when ISA-L's header is found; see src/input/isal.rs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <isa-l/igzip_lib.h>

/* A new inflate state reading one gzip member (header, deflate data, trailer checked), or
 * NULL when memory runs out. */
struct inflate_state *nodeauthz_isal_new(void)
{
	struct inflate_state *state = malloc(sizeof *state);
	if (state != NULL) {
		isal_inflate_init(state);
		state->crc_flag = ISAL_GZIP;
	}
	return state;
}

void nodeauthz_isal_free(struct inflate_state *state)
{
	free(state);
}

/* Makes `state` ready for the next gzip member. */
void nodeauthz_isal_next_member(struct inflate_state *state)
{
	isal_inflate_reset(state);
	state->crc_flag = ISAL_GZIP;
}

/*
 * Inflates from `in` into `out`: returns isal_inflate's code (negative for corrupt data) and
 * sets how many bytes of `in` were consumed, how many of `out` written, and whether the member
 * ended (its trailer read and checked). Bytes past the member's end are left unconsumed (ISA-L
 * 2.30 stops at the trailer's end). Were a version to give back bytes it had read ahead into
 * its bit buffer (up to 8) by moving `next_in` back, past the start of `in` when they came in
 * an earlier call, `consumed` would be negative: the caller keeps those bytes before `in`.
 */
int nodeauthz_isal_inflate(struct inflate_state *state, const uint8_t *in, uint32_t in_len,
			   uint8_t *out, uint32_t out_len, int64_t *consumed,
			   uint32_t *produced, int *member_end)
{
	int ret;

	state->next_in = (uint8_t *)in;
	state->avail_in = in_len;
	state->next_out = out;
	state->avail_out = out_len;
	ret = isal_inflate(state);
	*consumed = (int64_t)in_len - (int64_t)state->avail_in;
	*produced = out_len - state->avail_out;
	*member_end = state->block_state == ISAL_BLOCK_FINISH;
	return ret;
}
