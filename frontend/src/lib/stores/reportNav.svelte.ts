// Hands a receipt request from the hub drawer or history to the Reports page.
import { nav } from './nav.svelte';

export class ReportNav {
  sessionUuid = $state('');
  serial = $state('');
  /** print asks the Reports page to print as soon as the receipt is shown. */
  print = $state(false);

  open(sessionUuid: string, serial = '', print = false) {
    this.sessionUuid = sessionUuid;
    this.serial = serial;
    this.print = print;
    nav.go('reports');
  }

  take(): { sessionUuid: string; serial: string; print: boolean } {
    const v = { sessionUuid: this.sessionUuid, serial: this.serial, print: this.print };
    this.sessionUuid = '';
    this.serial = '';
    this.print = false;
    return v;
  }
}

export const reportNav = new ReportNav();
