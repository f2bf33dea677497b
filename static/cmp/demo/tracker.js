// A stand-in for a third-party analytics script: the demo shop loads it only after consent.
document.getElementById('analytics-status').textContent = 'Analytics script loaded (external file).';
