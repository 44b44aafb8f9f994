return { whisper = function(w) return "secret heard " .. w end }
