/*
 * threads.c - a threaded workload that allocates while it uses every
 * pthread hook: mutexes (lock, trylock, unlock), rwlocks, condition
 * variables (a bounded queue), thread creation.  Run under the shim with
 * rules on all of them and another allocator preloaded (alloc.sh): the
 * allocator takes its own locks inside malloc, so the shim's hooks run
 * inside the allocator, where they must not allocate.
 *
 * Checks its own results (counters, the queue's sum, every block's
 * contents) and prints "threads: ok allocator=OBJECT", OBJECT being the
 * library malloc comes from.  Exit 0 when everything adds up.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NWORK 4
#define ITERS 3000
#define RING  32
#define QCAP  8
#define ITEMS 2000

static pthread_mutex_t counter_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t try_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t table_l = PTHREAD_RWLOCK_INITIALIZER;
static long counter, table[16];
static atomic_long helpers, bad_blocks;

struct queue {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    long *buf[QCAP];
    int head, n;
};
static struct queue q = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void *helper(void *arg)
{
    free(arg);
    atomic_fetch_add(&helpers, 1);
    return NULL;
}

/* A block of n bytes filled with a pattern that depends on its seed. */
static unsigned char *block_new(size_t n, unsigned seed)
{
    unsigned char *p = (seed % 3 == 0) ? calloc(1, n) : malloc(n);
    if (!p)
        return NULL;
    if (seed % 5 == 0 && (p = realloc(p, n)) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i);
    return p;
}

static void block_check_free(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; p && i < n; i++)
        if (p[i] != (unsigned char)(seed + i)) {
            atomic_fetch_add(&bad_blocks, 1);
            break;
        }
    free(p);
}

static void *worker(void *arg)
{
    long id = (long)arg;
    unsigned char *ring[RING] = {0};
    size_t size[RING] = {0};
    unsigned seed[RING] = {0};

    for (int i = 0; i < ITERS; i++) {
        int k = i % RING;
        block_check_free(ring[k], size[k], seed[k]);
        seed[k] = (unsigned)(i * 7 + id);
        size[k] = 16 + (size_t)((i * 37 + id * 101) % 4000);
        ring[k] = block_new(size[k], seed[k]);
        pthread_mutex_lock(&counter_m);
        counter++;
        pthread_mutex_unlock(&counter_m);
        if (pthread_mutex_trylock(&try_m) == 0)
            pthread_mutex_unlock(&try_m);
        if (i % 4 == 0) {
            pthread_rwlock_wrlock(&table_l);
            table[i % 16]++;
            pthread_rwlock_unlock(&table_l);
        } else {
            pthread_rwlock_rdlock(&table_l);
            volatile long v = table[i % 16];
            (void)v;
            pthread_rwlock_unlock(&table_l);
        }
        if (i % 500 == 0) {
            pthread_t t;
            if (pthread_create(&t, NULL, helper, strdup("helper")) == 0)
                pthread_join(t, NULL);
        }
    }
    for (int k = 0; k < RING; k++)
        block_check_free(ring[k], size[k], seed[k]);
    return NULL;
}

static void *producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= ITEMS; i++) {
        long *item = malloc(sizeof *item);
        *item = i;
        pthread_mutex_lock(&q.m);
        while (q.n == QCAP)
            pthread_cond_wait(&q.not_full, &q.m);
        q.buf[(q.head + q.n++) % QCAP] = item;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.m);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long sum = 0;
    for (long i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&q.m);
        while (q.n == 0)
            pthread_cond_wait(&q.not_empty, &q.m);
        long *item = q.buf[q.head];
        q.head = (q.head + 1) % QCAP;
        q.n--;
        pthread_cond_broadcast(&q.not_full);
        pthread_mutex_unlock(&q.m);
        sum += *item;
        free(item);
    }
    *(long *)arg = sum;
    return NULL;
}

int main(void)
{
    pthread_t w[NWORK], p, c;
    long sum = 0, writes = 0;
    Dl_info info;

    if (pthread_create(&p, NULL, producer, NULL) || pthread_create(&c, NULL, consumer, &sum))
        return 2;
    for (long i = 0; i < NWORK; i++)
        if (pthread_create(&w[i], NULL, worker, (void *)i))
            return 2;
    for (int i = 0; i < NWORK; i++)
        pthread_join(w[i], NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    for (int i = 0; i < 16; i++)
        writes += table[i];
    int ok = counter == (long)NWORK * ITERS && writes == (long)NWORK * (ITERS / 4) &&
             sum == (long)ITEMS * (ITEMS + 1) / 2 && helpers == NWORK * (ITERS / 500) &&
             bad_blocks == 0;
    const char *obj = dladdr((void *)malloc, &info) && info.dli_fname ? info.dli_fname : "?";
    const char *base = strrchr(obj, '/');
    printf("threads: %s allocator=%s counter=%ld writes=%ld sum=%ld helpers=%ld bad=%ld\n",
           ok ? "ok" : "WRONG", base ? base + 1 : obj, counter, writes, sum, (long)helpers,
           (long)bad_blocks);
    return ok ? 0 : 1;
}
