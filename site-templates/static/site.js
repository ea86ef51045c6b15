// reprofarm dashboard: sortable and filterable tables. Every page works without this script.
'use strict';
(function () {
  function cellValue(row, i) {
    var cell = row.cells[i];
    if (!cell) return '';
    return cell.getAttribute('data-sort') || cell.textContent.trim();
  }
  function compare(a, b) {
    var na = parseFloat(a.replace(/[%,]/g, ''));
    var nb = parseFloat(b.replace(/[%,]/g, ''));
    if (!isNaN(na) && !isNaN(nb) && /^[-+]?[\d.,]+%?$/.test(a) && /^[-+]?[\d.,]+%?$/.test(b)) return na - nb;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  function makeSortable(table) {
    var head = table.tHead;
    if (!head || !table.tBodies[0]) return;
    Array.prototype.forEach.call(head.rows[0].cells, function (th, i) {
      var button = document.createElement('button');
      button.className = 'sort';
      button.type = 'button';
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(head.rows[0].cells, function (c) { c.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) { var r = compare(cellValue(a, i), cellValue(b, i)); return asc ? r : -r; });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      });
    });
  }
  function makeFilterable(table) {
    var body = table.tBodies[0];
    if (!body) return;
    var input = document.createElement('input');
    input.type = 'search';
    input.className = 'filter';
    input.placeholder = 'Filter ' + body.rows.length + ' rows';
    input.setAttribute('aria-label', 'Filter the table');
    var wrap = table.parentNode.classList.contains('table-wrap') ? table.parentNode : table;
    wrap.parentNode.insertBefore(input, wrap);
    input.addEventListener('input', function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(body.rows, function (r) {
        r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) === -1;
      });
    });
  }
  document.querySelectorAll('table.sortable').forEach(makeSortable);
  document.querySelectorAll('table.filterable').forEach(makeFilterable);
})();
