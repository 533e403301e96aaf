/*
 * config.c - shopd's configuration (set by shopd.c from its flags) and its
 * counters: what every part of the service reads, in a file of its own so
 * the parts never call back into shopd.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "shop.h"
#include "timeunit.h"

struct shop_config shop_cfg = {
    .stock = STOCK_ATOMIC,
    .payment = PAY_IDEMPOTENT,
    .events = EV_SKIP_LOCKED,
    .pool = POOL_CORRECT,
    .pool_size = 8,
    .dispatchers = -1,
    .isolation = "READ COMMITTED",
    .psp_timeout_ms = 300,
    .psp_tries = 3,
    .tx_tries = 20,
};
struct shop_stats shop_stats;

void shop_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * (long)NS_PER_MS};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

json_t *shop_stats_json(void)
{
    json_t *o = json_object();

#define X(n) json_object_set_new(o, #n, json_integer((json_int_t)atomic_load(&shop_stats.n)));
    SHOP_STATS(X)
#undef X
    return o;
}
