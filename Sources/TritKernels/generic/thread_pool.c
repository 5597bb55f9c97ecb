/* A persistent thread pool that degrades gracefully on a busy machine.
 *
 * - A job may be run by any subset of the pool's threads: every job function takes its work
 *   from a shared scheduler (parallel.c), so the caller alone can finish it.
 * - The caller runs its share, then CLOSES the job: a worker that has not joined by then (it
 *   was descheduled, or still waking up) skips it. The caller waits only for workers that are
 *   inside the job, and those hold at most one chunk each.
 * - Workers spin for a bounded time (yielding now and then), then sleep on a condition variable;
 *   the caller spins for a bounded time, then sleeps too. Nobody spins without bound.
 * - Pools are shared per process by thread count (tk_pool_shared), reference counted. A second
 *   thread that calls tk_pool_run while the pool is busy runs its job alone instead of waiting.
 * - fork(): the child has no worker threads; its first tk_pool_run starts new ones (and runs the
 *   job alone if it cannot). pthread_atfork keeps the locks consistent across the fork.
 *
 * The job word `state` holds (job sequence << 32) | CLOSED | number of workers inside. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "trit_kernels.h"

#define TK_SPIN_ITERS 4096     /* pause iterations before sleeping (~100 us) */
#define TK_YIELD_EVERY 256     /* a spinning thread yields this often, so a core it shares can run */
#define CLOSED ((uint64_t)1 << 31)
#define ACTIVE_MASK (CLOSED - 1)

struct tk_pool {
    int n_threads;               /* threads that may run a job, the caller included */
    int n_workers;               /* worker threads alive (n_threads - 1; 0 in a fork child until respawned) */
    int shared, refs;            /* shared pools: registry entry and its reference count */
    pid_t pid;                   /* the process that started the workers */
    pthread_t *threads;
    pthread_mutex_t lock;        /* guards sleeping and the two condition variables */
    pthread_cond_t wake, done;
    pthread_mutex_t submit;      /* held by the thread running a job */
    _Atomic uint32_t seq;        /* sequence of the newest job */
    _Atomic uint64_t state;
    _Atomic int stop;
    _Atomic int sleeping;        /* workers waiting on `wake` */
    tk_job_fn fn;
    void *ctx;
    struct tk_pool *next;        /* registry of every pool, for fork */
};

typedef struct { tk_pool *pool; int ith; } worker_arg;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static tk_pool *registry;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static inline void cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void spin_step(int spins) {
    if (spins % TK_YIELD_EVERY == TK_YIELD_EVERY - 1) sched_yield(); else cpu_relax();
}

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    free(p);
    tk_pool *pool = arg.pool;
    uint32_t seen = atomic_load_explicit(&pool->seq, memory_order_acquire);
    for (;;) {
        uint32_t s;
        int spins = 0;
        while ((s = atomic_load_explicit(&pool->seq, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&pool->stop, memory_order_acquire) && spins < TK_SPIN_ITERS)
            spin_step(spins++);
        if (s == seen && !atomic_load(&pool->stop)) {
            pthread_mutex_lock(&pool->lock);
            atomic_fetch_add(&pool->sleeping, 1);
            while ((s = atomic_load(&pool->seq)) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->wake, &pool->lock);
            atomic_fetch_sub(&pool->sleeping, 1);
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = s;
        /* join job s unless it is closed or already replaced by a newer one */
        uint64_t st = atomic_load_explicit(&pool->state, memory_order_acquire);
        int joined = 0;
        while ((uint32_t)(st >> 32) == s && !(st & CLOSED)) {
            if (atomic_compare_exchange_weak_explicit(&pool->state, &st, st + 1, memory_order_acq_rel,
                                                      memory_order_acquire)) { joined = 1; break; }
        }
        if (!joined) continue;
        pool->fn(pool->ctx, arg.ith, pool->n_threads);
        const uint64_t old = atomic_fetch_sub_explicit(&pool->state, 1, memory_order_acq_rel);
        if ((old & CLOSED) && (old & ACTIVE_MASK) == 1) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_broadcast(&pool->done);
            pthread_mutex_unlock(&pool->lock);
        }
    }
}

/* Starts workers 1..n_threads-1; on failure stops those started and returns the error. */
static int start_workers(tk_pool *pool) {
    if (pool->n_threads < 2) return 0;
    if (!pool->threads) pool->threads = calloc((size_t)pool->n_threads - 1, sizeof(pthread_t));
    if (!pool->threads) return ENOMEM;
    atomic_store(&pool->stop, 0);
    pool->pid = getpid();
    for (int i = 1; i < pool->n_threads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        int rc = arg ? 0 : ENOMEM;
        if (arg) {
            arg->pool = pool;
            arg->ith = i;
            rc = pthread_create(&pool->threads[i - 1], NULL, worker_main, arg);
            if (rc) free(arg);
        }
        if (rc) {
            pthread_mutex_lock(&pool->lock);
            atomic_store(&pool->stop, 1);
            pthread_cond_broadcast(&pool->wake);
            pthread_mutex_unlock(&pool->lock);
            for (int k = 1; k < i; k++) pthread_join(pool->threads[k - 1], NULL);
            pool->n_workers = 0;
            return rc;
        }
        pool->n_workers = i;
    }
    return 0;
}

static void atfork_prepare(void) {
    pthread_mutex_lock(&registry_lock);
    for (tk_pool *p = registry; p; p = p->next) { pthread_mutex_lock(&p->submit); pthread_mutex_lock(&p->lock); }
}
static void atfork_parent(void) {
    for (tk_pool *p = registry; p; p = p->next) { pthread_mutex_unlock(&p->lock); pthread_mutex_unlock(&p->submit); }
    pthread_mutex_unlock(&registry_lock);
}
static void atfork_child(void) {
    /* only the forking thread exists here: no job is running, no worker is alive. The condition
     * variables are made afresh: the copies still count the parent's sleeping workers as waiters,
     * and glibc's broadcast can wait for those to leave (a hang). */
    for (tk_pool *p = registry; p; p = p->next) {
        p->n_workers = 0;
        atomic_store(&p->sleeping, 0);
        pthread_cond_init(&p->wake, NULL);
        pthread_cond_init(&p->done, NULL);
        pthread_mutex_unlock(&p->lock);
        pthread_mutex_unlock(&p->submit);
    }
    pthread_mutex_unlock(&registry_lock);
}
static void install_atfork(void) { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

static tk_pool *pool_new(int n_threads) {
    pthread_once(&atfork_once, install_atfork);
    tk_pool *pool = calloc(1, sizeof *pool);
    if (!pool) { errno = ENOMEM; return NULL; }
    pool->n_threads = n_threads < 1 ? 1 : n_threads;
    pool->refs = 1;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->submit, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    const int rc = start_workers(pool);
    if (rc) {
        free(pool->threads);
        free(pool);
        errno = rc;
        return NULL;
    }
    return pool;
}

tk_pool *tk_pool_create(int n_threads) {
    tk_pool *pool = pool_new(n_threads);
    if (!pool) return NULL;
    pthread_mutex_lock(&registry_lock);
    pool->next = registry;
    registry = pool;
    pthread_mutex_unlock(&registry_lock);
    return pool;
}

tk_pool *tk_pool_shared(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    pthread_mutex_lock(&registry_lock);
    tk_pool *pool = registry;
    while (pool && !(pool->shared && pool->n_threads == n_threads)) pool = pool->next;
    if (pool) {
        pool->refs++;
    } else if ((pool = pool_new(n_threads)) != NULL) {
        pool->shared = 1;
        pool->next = registry;
        registry = pool;
    }
    pthread_mutex_unlock(&registry_lock);
    return pool;
}

int tk_pool_size(const tk_pool *pool) { return pool ? pool->n_threads : 1; }

void tk_pool_run(tk_pool *pool, tk_job_fn fn, void *ctx) {
    if (!pool || pool->n_threads == 1) { fn(ctx, 0, 1); return; }
    if (pthread_mutex_trylock(&pool->submit) != 0) {   /* another thread's job is running: do ours alone */
        fn(ctx, 0, pool->n_threads);
        return;
    }
    if (pool->n_workers == 0 && pool->pid != getpid() && start_workers(pool) != 0) pool->n_workers = 0;
    if (pool->n_workers == 0) {
        fn(ctx, 0, pool->n_threads);
        pthread_mutex_unlock(&pool->submit);
        return;
    }
    pool->fn = fn;
    pool->ctx = ctx;
    const uint32_t s = atomic_load_explicit(&pool->seq, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool->state, (uint64_t)s << 32, memory_order_release);
    atomic_store_explicit(&pool->seq, s, memory_order_release);
    if (atomic_load(&pool->sleeping) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }
    fn(ctx, 0, pool->n_threads);
    /* close the job; wait only for the workers inside it */
    uint64_t st = atomic_fetch_or_explicit(&pool->state, CLOSED, memory_order_acq_rel) | CLOSED;
    int spins = 0;
    while ((st & ACTIVE_MASK) != 0 && spins < TK_SPIN_ITERS) {
        spin_step(spins++);
        st = atomic_load_explicit(&pool->state, memory_order_acquire);
    }
    if ((st & ACTIVE_MASK) != 0) {
        pthread_mutex_lock(&pool->lock);
        while ((atomic_load(&pool->state) & ACTIVE_MASK) != 0) pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->submit);
}

void tk_pool_free(tk_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&registry_lock);
    if (--pool->refs > 0) { pthread_mutex_unlock(&registry_lock); return; }
    for (tk_pool **pp = &registry; *pp; pp = &(*pp)->next)
        if (*pp == pool) { *pp = pool->next; break; }
    pthread_mutex_unlock(&registry_lock);
    if (pool->n_workers > 0) {
        pthread_mutex_lock(&pool->lock);
        atomic_store(&pool->stop, 1);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
        for (int i = 1; i <= pool->n_workers; i++) pthread_join(pool->threads[i - 1], NULL);
    }
    free(pool->threads);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->submit);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    free(pool);
}
