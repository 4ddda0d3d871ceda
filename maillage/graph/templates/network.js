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

  // One partner and their neighbours stand out, the rest fades; « Revoir tout le réseau »
  // (or any change of colour, size or highlighting) brings everything back.
  function focus(id) {
    if (!nodes.get(id)) { return; }
    var near = {};
    near[id] = true;
    network.getConnectedNodes(id).forEach(function (other) { near[other] = true; });
    nodes.update(data.nodes.map(function (n) {
      return near[n.id] ? { id: n.id, color: n.colours[document.getElementById("couleur").value],
                            font: { color: "#222222", size: n.id === id ? 18 : 14 } }
                        : { id: n.id, color: "#eeeeee", font: { color: "#cccccc" } };
    }));
    document.getElementById("tout").hidden = false;
    network.selectNodes([id]);
    network.fit({ nodes: Object.keys(near), animation: { duration: 400 } });
  }

  // The drawing settles, then stays still: physics stops once the layout is stable, or after
  // a few seconds on a large network, so nothing keeps moving under the reader's eyes.
  function freeze() { network.setOptions({ physics: false }); }
  network.once("stabilizationIterationsDone", freeze);
  window.setTimeout(freeze, 6000);

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
  document.getElementById("tout").addEventListener("click", function (event) {
    event.target.hidden = true;
    network.unselectAll();
    restyle();
    network.fit({ animation: { duration: 400 } });
  });
  document.querySelectorAll("button.aller").forEach(function (button) {
    button.addEventListener("click", function () { focus(button.dataset.id); });
  });
  restyle();
  // « ?focus=o12 » (the « voir dans le dessin » links of /reseau): that partner's neighbourhood.
  var wanted = new URLSearchParams(window.location.search).get("focus");
  if (wanted) { network.once("stabilizationIterationsDone", function () { focus(wanted); }); }
})();
