/*
 * pgwire.c - one direction of a PostgreSQL v3 session, parsed byte by
 * byte as it goes by (pgwire.h).
 *
 * The parser trusts nothing: a length out of bounds or a type byte the
 * protocol does not have makes the stream PGW_DEAD (reported once with
 * PGW_ERROR, silent afterwards), so a socket that was not a PostgreSQL
 * session after all, or a decoder that lost its place, never produces
 * statements from garbage.  Every copy is bounded by PGW_CAP.
 */
#include "pgwire.h"

#include <string.h>

/* A typed message's length field counts itself; the server refuses more
 * than 1 GB, and so do we. */
#define PGW_MAX_LEN 0x40000000u
/* PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
#define PGW_MAX_STARTUP 10000u

static const char pgw_front_types[] = "QPBEDCSHFXdcfp";
static const char pgw_back_types[] = "RSKZTDCEGHWNAI123ntsVvdc";
/* Messages whose fields the session layer reads. */
static const char pgw_front_capture[] = "QPBEC";
static const char pgw_back_capture[] = "ECZ";

void pgw_init(struct pgw_stream *s, enum pgw_dir dir)
{
    memset(s, 0, sizeof *s - sizeof s->cap);
    s->dir = dir;
    s->state = dir == PGW_FRONT ? PGW_UNTYPED : PGW_TYPED;
}

static uint32_t pgw_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int pgw_has(const char *set, char c)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static enum pgw_got pgw_fail(struct pgw_stream *s, struct pgw_msg *m, const char *why)
{
    s->state = PGW_DEAD;
    memset(m, 0, sizeof *m);
    m->start = s->msg_start;
    m->why = why;
    return PGW_ERROR;
}

/* The header is complete: check it and set up the body. */
static enum pgw_got pgw_header(struct pgw_stream *s, struct pgw_msg *m)
{
    uint32_t len;

    if (s->state == PGW_UNTYPED) {
        len = pgw_be32(s->hdr);
        s->code = pgw_be32(s->hdr + 4);
        if (len < 8 || len > PGW_MAX_STARTUP)
            return pgw_fail(s, m, "a startup packet length out of bounds");
        s->type = 0;
        s->body_len = len - 8;
        s->capture = 1;
    } else {
        len = pgw_be32(s->hdr + 1);
        if (len < 4 || len > PGW_MAX_LEN)
            return pgw_fail(s, m, "a message length out of bounds");
        s->body_len = len - 4;
        s->capture = pgw_has(s->dir == PGW_FRONT ? pgw_front_capture : pgw_back_capture, s->type);
    }
    s->body_have = 0;
    s->cap_len = 0;
    return PGW_NONE;
}

/* The message is complete: describe it, and get ready for the next. */
static enum pgw_got pgw_done(struct pgw_stream *s, struct pgw_msg *m)
{
    m->type = s->type;
    m->code = s->type ? 0 : s->code;
    m->start = s->msg_start;
    m->end = s->off;
    m->body_len = s->body_len;
    m->body = s->cap;
    m->cap_len = s->cap_len;
    m->why = NULL;
    s->hdr_have = 0;
    if (s->state == PGW_UNTYPED) {
        if (s->code >> 16 == 3)
            s->state = PGW_TYPED; /* the StartupMessage: typed from here on */
        else if (s->code == PGW_CANCEL_REQ)
            s->state = PGW_DEAD; /* a cancel connection carries nothing else */
        else if (s->code != PGW_SSL_REQ && s->code != PGW_GSSENC_REQ)
            return pgw_fail(s, m, "an unknown startup packet code");
    }
    return PGW_MSG;
}

size_t pgw_feed(struct pgw_stream *s, const char *p, size_t n, struct pgw_msg *m, enum pgw_got *got)
{
    size_t used = 0;

    *got = PGW_NONE;
    if (s->state == PGW_DEAD)
        return n;
    while (used < n) {
        if (s->state == PGW_ANSWER) {
            memset(m, 0, sizeof *m);
            m->type = p[used];
            m->start = s->off++;
            m->end = s->off;
            s->state = PGW_TYPED; /* the session layer may say otherwise */
            *got = PGW_BYTE;
            return used + 1;
        }
        if (s->hdr_need == 0 || s->hdr_have < s->hdr_need) {
            if (s->hdr_have == 0) {
                s->msg_start = s->off;
                s->hdr_need = s->state == PGW_UNTYPED ? 8 : 5;
            }
            s->hdr[s->hdr_have++] = (unsigned char)p[used++];
            s->off++;
            if (s->state == PGW_TYPED && s->hdr_have == 1) {
                s->type = (char)s->hdr[0];
                if (!pgw_has(s->dir == PGW_FRONT ? pgw_front_types : pgw_back_types, s->type)) {
                    *got = pgw_fail(s, m, "an unknown message type");
                    return n;
                }
                memset(m, 0, sizeof *m);
                m->type = s->type;
                m->start = s->msg_start;
                *got = PGW_START;
                return used;
            }
            if (s->hdr_have < s->hdr_need)
                continue;
            if ((*got = pgw_header(s, m)) == PGW_ERROR)
                return n;
        }
        {
            size_t k = n - used;
            if (k > s->body_len - s->body_have)
                k = s->body_len - s->body_have;
            if (s->capture && s->cap_len < PGW_CAP) {
                size_t c = k < PGW_CAP - s->cap_len ? k : PGW_CAP - s->cap_len;
                memcpy(s->cap + s->cap_len, p + used, c);
                s->cap_len += (uint32_t)c;
            }
            s->body_have += (uint32_t)k;
            s->off += k;
            used += k;
        }
        if (s->body_have == s->body_len) {
            s->hdr_need = 0;
            *got = pgw_done(s, m);
            return *got == PGW_ERROR ? n : used;
        }
    }
    return used;
}

int pgw_cstr(const struct pgw_msg *m, uint32_t *pos, const char **s, size_t *len)
{
    const char *nul;

    if (*pos >= m->cap_len)
        return -1;
    *s = m->body + *pos;
    nul = memchr(*s, '\0', m->cap_len - *pos);
    if (!nul) {
        *len = m->cap_len - *pos;
        *pos = m->cap_len;
        return 0;
    }
    *len = (size_t)(nul - *s);
    *pos += (uint32_t)*len + 1;
    return 1;
}

int pgw_error_code(const struct pgw_msg *m, char out[6])
{
    uint32_t pos = 0;

    while (pos < m->cap_len && m->body[pos] != '\0') {
        char field = m->body[pos++];
        const char *v;
        size_t len;
        if (pgw_cstr(m, &pos, &v, &len) != 1)
            return -1;
        if (field == 'C' && len == 5) {
            memcpy(out, v, 5);
            out[5] = '\0';
            return 0;
        }
    }
    return -1;
}

size_t pgw_map_sent(size_t swallow, size_t repl_at, size_t repl_end, size_t repl_len, size_t r,
                    size_t *owed_from, int *repl_done)
{
    size_t prefix = repl_at - swallow;

    *owed_from = repl_len;
    *repl_done = 0;
    if (r <= prefix || repl_len == 0)
        return swallow + (r <= prefix ? r : prefix);
    *repl_done = 1;
    if (r < prefix + repl_len) {
        *owed_from = r - prefix;
        return repl_end;
    }
    return repl_end + (r - prefix - repl_len);
}
