# Pharos: ansible-playbook events as JSON lines, for lib/tools/ansible.ts.
#
# Enabled only for Pharos's own runs (runPlaybook sets ANSIBLE_CALLBACK_PLUGINS,
# ANSIBLE_CALLBACKS_ENABLED and PHAROS_ANSIBLE_EVENTS_FD); the normal stdout
# callback still prints what a person reads in the target's log. One JSON
# object per line on the file descriptor named by PHAROS_ANSIBLE_EVENTS_FD:
#
#   {"e": "task", "id": ..., "name": "role : task", "action": ..., "handler": false}
#   {"e": "result", "id": ..., "host": ..., "status": "ok|changed|failed|skipped|unreachable",
#    "ignored": false, "items": 0, "ms": 1234}
#   {"e": "task_end", "id": ..., "ms": 2345}
#   {"e": "stats", "hosts": {"h": {"ok": 1, "changed": 0, "unreachable": 0,
#    "failed": 0, "skipped": 0, "rescued": 0, "ignored": 0}}}
#
# "ms" of a result counts from the task's start; a task_end's "ms" runs to the
# next task's start (or the end of the run), so the tasks' times add up to the
# run's. Without the variable, or when the descriptor is not open, the plugin
# does nothing.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
    name: pharos_events
    type: notification
    short_description: JSON-lines task events for Pharos
    description:
      - Writes task starts, per-host results, task durations and the final
        per-host counts as JSON lines to the descriptor in PHAROS_ANSIBLE_EVENTS_FD.
    requirements:
      - enabled through callbacks_enabled (Pharos does it in the environment)
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'pharos_events'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._out = None
        self._task = None
        self._started = 0.0
        self._items = {}
        fd = os.environ.get('PHAROS_ANSIBLE_EVENTS_FD', '')
        if fd.isdigit():
            try:
                self._out = os.fdopen(int(fd), 'w', buffering=1, encoding='utf-8')
            except OSError as e:
                self._display.warning('pharos_events: descriptor %s is not open (%s); no events' % (fd, e))

    def _emit(self, event):
        if self._out is None:
            return
        try:
            self._out.write(json.dumps(event, sort_keys=True, default=str) + '\n')
        except (OSError, ValueError):
            # The reader went away: keep the run going without events.
            self._out = None

    def _ms(self):
        return int((time.monotonic() - self._started) * 1000)

    def _end_task(self):
        if self._task is not None:
            self._emit({'e': 'task_end', 'id': self._task, 'ms': self._ms()})
            self._task = None

    def _start_task(self, task, handler):
        self._end_task()
        self._task = task._uuid
        self._started = time.monotonic()
        self._items = {}
        self._emit({'e': 'task', 'id': task._uuid, 'name': task.get_name(), 'action': task.action, 'handler': handler})

    def _result(self, result, status, ignored=False):
        host = result._host.get_name()
        event = {
            'e': 'result',
            'id': result._task._uuid,
            'host': host,
            'status': status,
            'ignored': ignored,
            'items': self._items.pop(host, 0),
            'ms': self._ms(),
        }
        # What a failure said, as data (a role's marked message travels here,
        # not through the text a person reads).
        if status in ('failed', 'unreachable') and not ignored:
            event['msg'] = str(result._result.get('msg', ''))[:4000]
        self._emit(event)

    def _item(self, result):
        host = result._host.get_name()
        self._items[host] = self._items.get(host, 0) + 1

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start_task(task, False)

    def v2_playbook_on_handler_task_start(self, task):
        self._start_task(task, True)

    def v2_playbook_on_play_start(self, play):
        self._end_task()

    def v2_runner_on_ok(self, result):
        self._result(result, 'changed' if result._result.get('changed', False) else 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, 'failed', ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._result(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._result(result, 'unreachable')

    def v2_runner_item_on_ok(self, result):
        self._item(result)

    def v2_runner_item_on_failed(self, result):
        self._item(result)

    def v2_runner_item_on_skipped(self, result):
        self._item(result)

    def v2_playbook_on_stats(self, stats):
        self._end_task()
        hosts = {}
        for h in sorted(stats.processed.keys()):
            s = stats.summarize(h)
            hosts[h] = {
                'ok': s['ok'], 'changed': s['changed'], 'unreachable': s['unreachable'], 'failed': s['failures'],
                'skipped': s['skipped'], 'rescued': s['rescued'], 'ignored': s['ignored'],
            }
        self._emit({'e': 'stats', 'hosts': hosts})
        if self._out is not None:
            self._out.flush()
