/* jobs.c — the example job service (jobs.h). */
#include "jobs.h"

#include <stdio.h>
#include <string.h>

ps_status jobs_enqueue(ps_backend *b, const char *subject, const char *id)
{
    ps_status s = PS_ERR_TIMEOUT;
    for (int attempt = 0; attempt < 4 && s == PS_ERR_TIMEOUT; attempt++)
        s = ps_publish_data(b, subject, id, strlen(id), id, NULL);
    return s;
}

static int ledger_find(const jobs_ledger *l, const char *id)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0)
            return i;
    return -1;
}

/* The side effect: charge once per job id. */
static void charge(jobs_ledger *l, const char *id)
{
    if (ledger_find(l, id) >= 0 || l->n == (int)(sizeof l->ids / sizeof l->ids[0]))
        return;
    snprintf(l->ids[l->n++], sizeof l->ids[0], "%s", id);
    l->charges++;
}

ps_status jobs_work_one(ps_consumer *c, jobs_ledger *ledger, int64_t expires_ns)
{
    ps_msg_list got = {0};
    ps_status s = ps_fetch_batch(c, 1, expires_ns, &got);
    if (s)
        return s;
    ps_msg *m = got.msgs[0];
    const char *id = ps_msg_header(m, "Nats-Msg-Id");
    charge(ledger, id ? id : "");
    s = ps_ack(m, PS_ACK, 0);
    ps_msg_list_free(&got);
    return s;
}
