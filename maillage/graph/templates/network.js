// The network page: data come as JSON and every text is set with textContent, never parsed as HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("donnees").textContent);
  var nodes = new vis.DataSet(data.nodes);
  var edges = new vis.DataSet(data.edges);
  var network = new vis.Network(document.getElementById("reseau"),
    { nodes: nodes, edges: edges }, data.options);
  var byName = {};

  function legend(mode) {
    var box = document.getElementById("legende");
    box.replaceChildren();
    data.legend[mode].forEach(function (item) {
      var entry = document.createElement("span");
      var dot = document.createElement("span");
      dot.className = "pastille";
      dot.style.backgroundColor = item.colour;
      entry.appendChild(dot);
      entry.appendChild(document.createTextNode(item.label));
      box.appendChild(entry);
    });
  }

  function restyle() {
    var mode = document.getElementById("couleur").value;
    var size = document.getElementById("taille").value;
    var highlight = document.getElementById("surligner").checked;
    nodes.update(data.nodes.map(function (n) {
      var faded = highlight && !n.flagged;
      return {
        id: n.id,
        color: faded ? "#e6e6e6" : n.colours[mode],
        size: n.sizes[size],
        borderWidth: highlight && n.flagged ? 4 : 1,
        // Labels grow with the node; the small ones appear when zooming in (drawThreshold),
        // so the overview is not a smudge of 150 overlapping names.
        font: {
          color: faded ? "#bbbbbb" : "#222222",
          size: highlight && n.flagged ? 16 : Math.round(7 + (n.sizes[size] - 8) * 0.5)
        }
      };
    }));
    legend(mode);
  }

  function focus(id) {
    if (!nodes.get(id)) { return; }
    network.selectNodes([id]);
    network.focus(id, { scale: 1.2, animation: { duration: 400 } });
  }

  var list = document.getElementById("noms");
  data.nodes.forEach(function (n) {
    byName[n.label.toLowerCase()] = n.id;
    var option = document.createElement("option");
    option.value = n.label;
    list.appendChild(option);
  });
  document.getElementById("recherche").addEventListener("change", function (event) {
    var id = byName[event.target.value.trim().toLowerCase()];
    if (id !== undefined) { focus(id); }
  });
  ["couleur", "taille", "surligner"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", restyle);
  });
  document.querySelectorAll("button.aller").forEach(function (button) {
    button.addEventListener("click", function () { focus(button.dataset.id); });
  });
  restyle();
})();
